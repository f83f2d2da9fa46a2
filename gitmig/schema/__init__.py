"""The schema as data: states, their canonical form, and models read into them."""
