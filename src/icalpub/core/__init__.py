"""What every stage shares: the model, the errors a user can make, where things live."""
