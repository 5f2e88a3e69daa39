# setup_tool: rules pending
