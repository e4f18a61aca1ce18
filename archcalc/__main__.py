from archcalc.cli import console

console()
