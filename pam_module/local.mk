# pam_module: rules pending
