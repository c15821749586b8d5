from sweep.launch import main

main()
