from contactpoint.cli.main import main

main()
