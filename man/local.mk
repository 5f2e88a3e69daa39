# man: rules pending
