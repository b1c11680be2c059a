"""Training one run: the loop, the tasks it trains, users' models as runs, probing, and
stacked training of several seeds as one model."""
