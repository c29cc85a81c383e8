from tests.app_fixtures import *  # noqa: F403  (shared app fixtures)
