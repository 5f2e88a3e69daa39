# state benchmark rules (owned by the state work)
