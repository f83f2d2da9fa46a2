"""What pyproject.toml cannot say: the repository's top-level hooks/ folder (the one copy of
the git hook scripts, also read by people and by the pre-commit framework) ships inside the
package as `gitmig._hook_scripts`, in wheels and editable installs alike."""

from setuptools import find_packages, setup

setup(
    packages=[*find_packages(include=["gitmig", "gitmig.*"]), "gitmig._hook_scripts"],
    package_dir={"gitmig._hook_scripts": "hooks"},
    package_data={"gitmig._hook_scripts": ["pre-commit", "post-merge", "post-checkout"]},
)
