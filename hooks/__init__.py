"""The git hook scripts that `gitmig hooks install` writes; installed as the package
`gitmig._hook_scripts` (see setup.py), so this folder is their only copy."""
