"""Feature wiring: each module builds one feature's services (`build`) and registers its routes, page sections
and jobs (`register`). The container and `app.web` call them in `FEATURES` order, so a feature can use what an
earlier one built (the hub's delivery is in place before notifications and metrics are built)."""

from app.wiring import metrics, notifications, realtime, silences

FEATURES = (realtime, notifications, silences, metrics)
