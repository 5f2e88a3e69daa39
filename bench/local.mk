# bench: rules pending
