"""Run at the start of every Python process the tests start (see reproducible_numerics)."""

import reproducible_numerics

reproducible_numerics.pin_numerics()
