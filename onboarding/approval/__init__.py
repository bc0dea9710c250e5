"""Approval routing: steps, the authority's links, queues, decisions, deadlines, appeals and letters."""
