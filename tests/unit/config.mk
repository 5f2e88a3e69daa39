# rules pending
