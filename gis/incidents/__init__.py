"""Incidents: the workflow, deadlines (work days), attachments, cards and exports."""
