"""Numbers people send where the portal expects the id of a row (a form's choice, a
query parameter): the range a database holds them in."""

# The largest integer PostgreSQL (bigint) and SQLite store. A number past it names no row,
# and a query comparing with it, or offsetting by it, fails instead of finding nothing
# (SQLite: OverflowError; PostgreSQL: "bigint out of range").
DB_INT_MAX = 2**63 - 1


def row_id(value: object) -> int | None:
    """``value`` as the id a row can have (a whole number from 1 to DB_INT_MAX), else None."""
    try:
        number = int(value)
    except (TypeError, ValueError):
        return None
    return number if 0 < number <= DB_INT_MAX else None
