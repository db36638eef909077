"""The grid: org units and levels, hamlets, households, residents, appointments."""
