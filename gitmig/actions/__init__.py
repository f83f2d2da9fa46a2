"""What each command does, built from the layers below; the click layer calls these."""
