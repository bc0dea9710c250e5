"""Where someone is in a list (its filters and its page), carried by the links of its rows
to an action's pages (a confirmation, a decision) and from them back to the list: acting
on a row found by a search on page 2 leads back to page 2 of that search, not to the
first page of everything."""

from urllib.parse import urlencode

from portal.ids import row_id


def list_place(params, filters=None, *, page=None) -> dict:
    """What of a list's query ``params`` (an address's) an action on one of its rows
    carries: each field of ``filters`` (the list's filter form, bound to ``params``) as the
    form takes it, only when it is valid and set (a box ticked as "on", a number only as
    the id a row can have), and the page when above 1 (``page``'s number, the page shown,
    when given; else the address's): nothing else, in the order of the form's fields."""
    query = {}
    if filters is not None:
        filters.is_valid()  # a field that is not valid is left out of cleaned_data
        for name in filters.fields:
            value = filters.cleaned_data.get(name)
            if isinstance(value, bool):
                value = "on" if value else None
            elif isinstance(value, int):
                value = row_id(value)
            if value not in (None, ""):
                query[name] = value
    number = page.number if page is not None else row_id(params.get("page"))
    if number and number > 1:
        query["page"] = number
    return query


def place_url(url: str, place: dict) -> str:
    """``url`` with ``place`` (what list_place kept) as its query, if any."""
    return f"{url}?{urlencode(place)}" if place else url
