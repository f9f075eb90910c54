"""Collections casework: activities and worklist, promises to pay, disputes, payment plans, penalty interest, escalation cases, playbooks."""
