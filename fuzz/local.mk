# fuzz: rules pending
