"""``kb worker``: a process that takes jobs of the kinds it is given from the one queue."""
