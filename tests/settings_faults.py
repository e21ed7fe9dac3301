"""Settings for the processes the fault tests start (workers): short leases and redelivery, so
that recovery after a killed worker takes seconds instead of the production hour."""

from mes.settings import *  # noqa: F403

# A message whose worker died is delivered again after this long (production: 1 hour).
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 4, "unacked_restore_interval": 1}
# A notification claimed by a dead worker may be claimed again after this long.
MES_ALERT_SEND_LEASE_SECONDS = 3
