"""One module per command: options, one call into gitmig, and the printing."""
