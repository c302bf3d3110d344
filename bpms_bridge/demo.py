"""Demo data of bpms_bridge (idempotent): the seed-004 review routes (also made by migration
0002; re-created here if an admin deleted them)."""

from .models import ReviewRoute, ReviewRouteStep
from .routes_data import seed_routes


def seed(*, stdout) -> None:
    made = seed_routes(ReviewRoute, ReviewRouteStep)
    stdout.write(f"bpms_bridge: review routes in place ({made} created).")
