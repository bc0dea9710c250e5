"""Pages of lists too long to count whole: the audit log's events, an organisation's members."""

from django.core.paginator import Paginator
from django.utils.functional import cached_property


class CountedUpTo(Paginator):
    """Pages of at most ``most`` items: the count reads no further (``more``: there are
    others past it), and a page number past them is the last page within them."""

    def __init__(self, object_list, per_page, most):
        super().__init__(object_list, per_page)
        self.most = most

    @cached_property
    def counted(self) -> int:
        return self.object_list[:self.most + 1].count()

    @cached_property
    def count(self) -> int:
        return min(self.counted, self.most)

    @property
    def more(self) -> bool:
        return self.counted > self.most
