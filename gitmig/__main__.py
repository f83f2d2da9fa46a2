from gitmig.entry import main

main()
