"""Writes of the alerts app, split by concern:

- raising.py     evaluate a rule: raise, clear, auto-resolve, re-arm (bulk)
- escalation.py  escalate due alerts (bulk)
- lifecycle.py   acknowledge, resolve, close, comment, reassign, escalate by hand
- notify.py      who hears about an alert; notification rows; in-app push
- delivery.py    exactly-once e-mail / webhook sending (Celery)
- sweep.py       the periodic sweep, event-driven evaluation, plan changes
- config.py      rules, escalation chains, webhook endpoints
- inbox.py       reading notifications
- handlers.py    domain-event subscribers
"""
