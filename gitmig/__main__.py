from gitmig.cli import main

main()
