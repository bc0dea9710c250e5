"""A small HTML tree built with the standard library's html.parser, for tests that
look inside rendered pages (which element holds an error, what a field shows), and
the check every rendered page must pass (html_problems)."""

from html.parser import HTMLParser

VOID_ELEMENTS = {
    "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr",
}


class Node:
    def __init__(self, tag, attrs=None, parent=None):
        self.tag = tag
        self.attrs = dict(attrs or {})
        self.parent = parent
        self.children = []

    def __repr__(self):
        return f"<{self.tag} {self.attrs}>"

    def get(self, name, default=None):
        return self.attrs.get(name, default)

    def iter(self):
        for child in self.children:
            if isinstance(child, Node):
                yield child
                yield from child.iter()

    def _matches(self, name, value):
        name = name.rstrip("_")
        if name == "class":  # one of the element's classes
            return value in self.attrs.get("class", "").split()
        return self.attrs.get(name) == value

    def find_all(self, tag=None, **attrs):
        return [
            node for node in self.iter()
            if (tag is None or node.tag == tag) and all(node._matches(k, v) for k, v in attrs.items())
        ]

    def find(self, tag=None, **attrs):
        found = self.find_all(tag, **attrs)
        return found[0] if found else None

    def by_id(self, element_id):
        for node in self.iter():
            if node.attrs.get("id") == element_id:
                return node
        return None

    def ancestors(self):
        node = self.parent
        while node is not None:
            yield node
            node = node.parent

    def text(self):
        parts = []
        for child in self.children:
            if isinstance(child, Node):
                parts.append("\n" if child.tag == "br" else child.text())
            else:
                parts.append(child)
        return "".join(parts)

    def squashed_text(self):
        return " ".join(self.text().split())


class _TreeBuilder(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.root = Node("#document")
        self.stack = [self.root]
        self.doctype = None

    def handle_decl(self, decl):
        self.doctype = decl

    def handle_starttag(self, tag, attrs):
        node = Node(tag, [(k, "" if v is None else v) for k, v in attrs], parent=self.stack[-1])
        self.stack[-1].children.append(node)
        if tag not in VOID_ELEMENTS:
            self.stack.append(node)

    def handle_startendtag(self, tag, attrs):
        node = Node(tag, [(k, "" if v is None else v) for k, v in attrs], parent=self.stack[-1])
        self.stack[-1].children.append(node)

    def handle_endtag(self, tag):
        for index in range(len(self.stack) - 1, 0, -1):
            if self.stack[index].tag == tag:
                del self.stack[index:]
                return

    def handle_data(self, data):
        self.stack[-1].children.append(data)


def parse(html):
    if isinstance(html, bytes):
        html = html.decode("utf-8")
    builder = _TreeBuilder()
    builder.feed(html)
    builder.close()
    builder.root.doctype = builder.doctype
    return builder.root


def page(response):
    return parse(response.content)


def printed_filters(tree):
    """The words of a list page's summary of the filters it shows, printed only (hidden on
    screen, as its filter form is on paper)."""
    [summary] = tree.find_all(class_="printed-filters")
    assert {"d-none", "d-print-block"} <= set(summary.get("class").split()), summary.get("class")
    return summary.squashed_text()


def off_paper(node):
    """Whether the element, or one around it, is kept off the paper: .d-print-none, hidden, or
    what the print styles (static/css/portal.css) hide, the header's navigation and language form."""
    for element in [node, *node.ancestors()]:
        classes = element.get("class", "").split()
        if "d-print-none" in classes or "language-switch" in classes or "hidden" in element.attrs:
            return True
        if element.tag == "nav" and any("portal-header" in above.get("class", "").split()
                                         for above in element.ancestors()):
            return True
    return False


def _printed(node):
    return not off_paper(node)


def printed_controls(tree):
    """The fields and buttons of the page's <main> that a printed page would carry: those not
    inside an element kept off the paper (d-print-none), as "name=value" of each."""
    return [f"{node.tag} {node.get('name', '')}={node.get('value', '')}".strip() for node in tree.find("main").iter()
            if node.tag in ("input", "select", "textarea", "button") and node.get("type") != "hidden"
            and _printed(node)]


def printed_text(tree):
    """The words of the page's <main> a printed page would carry (none of an element kept off
    the paper, d-print-none)."""
    def words(node):
        return "".join(words(child) if isinstance(child, Node) else child
                       for child in node.children if not isinstance(child, Node) or _printed(child))
    return " ".join(words(tree.find("main")).split())


# Form helpers ----------------------------------------------------------------

def error_message(node):
    """What an error element shows: its messages without the visually hidden "Error:" a
    screen reader reads before each."""
    def shown(element):
        return "".join(
            ("\n" if child.tag == "br" else shown(child)) if isinstance(child, Node) else child
            for child in element.children
            if not (isinstance(child, Node) and "visually-hidden" in child.get("class", "").split())
        )
    return " ".join(shown(node).split())


def field_error(tree, name):
    """The message(s) the error element of a field (id ``id_<name>_error``) shows, or None."""
    node = tree.by_id(f"id_{name}_error")
    return error_message(node) if node is not None else None


def field_value(tree, name):
    """What the re-rendered form shows for a field: a string for text inputs,
    textareas, selects and radios; a list for groups of checkboxes; a bool for a
    single checkbox."""
    controls = [n for n in tree.iter() if n.tag in ("input", "textarea", "select") and n.get("name") == name]
    if not controls:
        raise AssertionError(f"no control named {name!r} in the page")
    first = controls[0]
    if first.tag == "textarea":
        text = first.text()
        return text[1:] if text.startswith("\n") else text
    if first.tag == "select":
        selected = [o.get("value", o.text()) for o in first.find_all("option") if "selected" in o.attrs]
        return selected[0] if selected else ""
    kind = first.get("type", "text")
    if kind == "radio":
        checked = [c.get("value") for c in controls if "checked" in c.attrs]
        return checked[0] if checked else ""
    if kind == "checkbox":
        if len(controls) == 1 and not first.get("id", "").rstrip("0123456789").endswith("_"):
            return "checked" in first.attrs
        return [c.get("value") for c in controls if "checked" in c.attrs]
    return first.get("value", "")


def form_as_sent(tree, **changes):
    """What a browser sends for the page's first form posted to itself (no ``action``): each
    control with a name, as the page shows it (hidden inputs included, buttons and files
    left out), then ``changes``."""
    form = next(f for f in tree.find_all("form") if f.get("method", "").lower() == "post" and not f.get("action"))
    names = [n.get("name") for n in form.iter() if n.tag in ("input", "textarea", "select") and n.get("name")
             and n.get("type", "text") not in ("submit", "button", "file", "image", "reset")]
    sent = {name: field_value(form, name) for name in dict.fromkeys(names)}
    return {**{name: value for name, value in sent.items() if value is not False and value is not True},
            **{name: "on" for name, value in sent.items() if value is True},
            **{key: str(value) for key, value in changes.items()}}


def field_container(tree, name):
    """The block that holds one field (label, input, hint, error and warnings)."""
    for node in tree.iter():
        if f"field-{name}" in node.get("class", "").split():
            return node
    return None


# The page check ----------------------------------------------------------------

LABELLED_EXEMPT_TYPES = {"hidden", "submit", "button", "reset", "image"}


def scrolls_on_its_own(table):
    """A table sits in Bootstrap's .table-responsive box, which takes focus (so that the
    keyboard scrolls it) and is a region named by the table's caption: in a narrow window
    (a phone, a page zoomed to 200% or 400%) only the table scrolls sideways, not the page."""
    box, caption = table.parent, table.find("caption")
    return (
        box is not None and box.tag == "div" and "table-responsive" in box.get("class", "").split()
        and box.get("role") == "region" and box.get("tabindex") == "0"
        and caption is not None and bool(caption.get("id")) and box.get("aria-labelledby") == caption.get("id")
    )


def html_problems(html):
    tree = parse(html)
    problems = []
    if not (getattr(tree, "doctype", "") or "").lower().startswith("doctype html"):
        problems.append("no <!DOCTYPE html>")
    root = tree.find("html")
    if root is None or not root.get("lang", "").strip():
        problems.append("<html> without lang")
    h1s = tree.find_all("h1")
    if len(h1s) != 1:
        problems.append(f"{len(h1s)} <h1> elements")
    titles = tree.find_all("title")
    if len(titles) != 1 or not titles[0].squashed_text() or titles[0].squashed_text().startswith("·"):
        problems.append(f"title {[t.squashed_text() for t in titles]!r}")

    ids = {}
    for node in tree.iter():
        if "id" in node.attrs:
            ids.setdefault(node.get("id"), []).append(node)
    problems += [f"id {key!r} used {len(nodes)} times" for key, nodes in ids.items() if len(nodes) > 1]

    labels_for = {node.get("for") for node in tree.find_all("label") if node.get("for")}
    for node in tree.iter():
        if node.tag in ("input", "select", "textarea"):
            if node.tag == "input" and node.get("type", "text") in LABELLED_EXEMPT_TYPES:
                continue
            labelled = (
                (node.get("id") and node.get("id") in labels_for)
                or any(a.tag == "label" for a in node.ancestors())
                or node.get("aria-label", "").strip()
                or node.get("aria-labelledby", "").strip()
            )
            if not labelled:
                problems.append(f"<{node.tag} name={node.get('name')!r}> has no label")
        for attribute in ("aria-describedby", "aria-labelledby"):
            for ref in node.get(attribute, "").split():
                if ref not in ids:
                    problems.append(f"{attribute}={ref!r} points at no element")
        if node.tag == "label" and node.get("for") and node.get("for") not in ids:
            problems.append(f"<label for={node.get('for')!r}> points at no element")
        if node.tag == "table" and not scrolls_on_its_own(node):
            problems.append("<table> not in a focusable .table-responsive region named by its caption")
        if node.tag == "script" and (node.text().strip() or not node.get("src")):
            problems.append("inline <script>")
        if node.tag == "style":
            problems.append("inline <style>")
        if "style" in node.attrs:
            problems.append(f"style= attribute on <{node.tag}>")
        problems += [f"{a}= handler on <{node.tag}>" for a in node.attrs if a.startswith("on")]
    summary = tree.by_id("error-summary")
    for link in summary.find_all("a") if summary is not None else []:
        target = ids.get(link.get("href", "")[1:], [None])[0]
        if not link.get("href", "").startswith("#") or target is None or not focusable(target):
            problems.append(f"error summary link {link.get('href')!r} leads to no element that takes focus: {target}")
    return problems


def focusable(node):
    """Whether a link's jump to the element moves keyboard focus there (a fieldset, a div without
    tabindex, a hidden input: the focus stays on the page)."""
    if node.get("tabindex") is not None or (node.tag == "a" and node.get("href") is not None):
        return "disabled" not in node.attrs
    if node.tag in ("select", "textarea", "button") or (node.tag == "input" and node.get("type") != "hidden"):
        return "disabled" not in node.attrs
    return False
