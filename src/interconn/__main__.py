from interconn.cli.main import main

main()
