"""The runtime layer: trajectories and their history, the one reducer, the pure
decisions, the dispatch through ``transitions`` (the only module that imports it),
access to confidential values, and agendas. Never touches a store."""
