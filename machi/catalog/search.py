"""Japanese search over the catalog: what gets indexed and how queries expand.

Indexing and query parsing both use machi.lib.japanese; the engine-specific
index and SQL live in machi.lib.search. The facet rows are also held in
memory as sets of dataset ids (FacetIndex), one per catalog version.
"""

import uuid
from array import array
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from operator import itemgetter

from django.core.cache import cache
from django.db import connection
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Count, F, Max

from machi.catalog.models import (
    Category,
    Dataset,
    DatasetFacets,
    DatasetSearch,
    GlossaryEntry,
    Resource,
    SearchVersion,
    SynonymSet,
)
from machi.lib import japanese
from machi.lib.search import All, Any, Fields, Node, Token, backend_for, bitmap, simplify

FIELDS = Fields(
    table="catalog_datasetsearch",
    key="dataset_id",
    columns=("title", "tags", "description", "resources"),
    # title > tags > description > resources
    weights=(10.0, 5.0, 2.0, 1.0),
)


def backend():  # type: ignore[no-untyped-def]
    return backend_for(connection.vendor, FIELDS)


def ensure_index(using_connection: BaseDatabaseWrapper) -> bool:
    """(Re)build the engine's full-text index if any piece of it is missing.

    SQLite rebuilds a table to alter it, which drops its triggers; so after
    every migrate the index is checked, and repaired from the token rows.
    Returns whether it had to be rebuilt.
    """
    search_backend = backend_for(using_connection.vendor, FIELDS)
    with using_connection.cursor() as cursor:
        cursor.execute(search_backend.installed_sql())
        if cursor.fetchone()[0] == search_backend.expected_pieces:
            return False
        for sql in search_backend.teardown_sql() + search_backend.setup_sql():
            cursor.execute(sql)
        for sql in search_backend.rebuild_sql():
            cursor.execute(sql)
    return True


FACET_FIELDS = ("category", "tag", "department", "format", "license")


def facet_key(field: str, value: str) -> str:
    return f"{field}\t{value}"


def facet_text(pairs: Iterable[tuple[str, str]]) -> str:
    """Facet values as stored in DatasetFacets.keys: "field<TAB>value" lines.

    Every line, the first included, starts and ends with a newline, so a
    search finds an exact key with one substring test (catalog.queries).
    Values hold no tabs or newlines (tags are trimmed to single spaces).
    """
    lines = dict.fromkeys(facet_key(field, value) for field, value in pairs if value)
    return "\n" + "\n".join(lines) + "\n" if lines else ""


def search_document(
    dataset: Dataset,
    *,
    tags: Sequence[str],
    categories: Sequence[Category],
    resources: Sequence[Resource],
) -> tuple[dict[str, str], dict[str, object]]:
    """A dataset's analyzed fields (DatasetSearch) and facet row (DatasetFacets)."""
    formats = [r.current.format for r in resources if r.current and r.current.format]
    tokens = {
        "title": japanese.index_text([dataset.title, dataset.title_en]),
        "tags": japanese.index_text(
            [*tags, *(c.name for c in categories), *(c.name_en for c in categories)]
        ),
        "description": japanese.index_text(
            [
                dataset.description,
                dataset.description_en,
                dataset.department.name,
                dataset.department.name_en,
            ]
        ),
        "resources": japanese.index_text(
            [
                *(r.name for r in resources),
                *(r.name_en for r in resources),
                *(r.description for r in resources),
                *formats,
            ]
        ),
    }
    facets = {
        "is_public": dataset.is_public,
        "department_id": dataset.department_id,
        "modified": dataset.modified,
        "title": dataset.title,
        "keys": facet_text(
            [
                *(("category", c.slug) for c in categories),
                *(("tag", t) for t in tags),
                ("department", dataset.department.slug),
                *(("format", f) for f in formats),
                ("license", dataset.license.slug),
            ]
        ),
    }
    return tokens, facets


def index_dataset(dataset: Dataset) -> None:
    """Re-analyze a dataset; the engine index follows in the same transaction."""
    tokens, facets = search_document(
        dataset,
        tags=[tag.name for tag in dataset.tags.all()],
        categories=list(dataset.categories.all()),
        resources=list(dataset.resources.select_related("current")),
    )
    DatasetSearch.objects.update_or_create(dataset=dataset, defaults=tokens)
    DatasetFacets.objects.update_or_create(dataset=dataset, defaults=facets)
    bump_version()


def bump_version() -> None:
    """Note a change to the search rows (every index write and every dataset deletion)."""
    # The row is made by migration 0004; an update is atomic on both engines.
    if not SearchVersion.objects.filter(pk=1).update(number=F("number") + 1):
        # Only a flushed database (transactional tests) lacks it; without it
        # the version would never change and caches would go stale.
        SearchVersion.objects.create(pk=1, number=1)


def current_version() -> int:
    return SearchVersion.objects.filter(pk=1).values_list("number", flat=True).first() or 0


@dataclass(frozen=True)
class FacetIndex:
    """The DatasetFacets rows of one catalog version as sets of dataset ids.

    Each set is an int bitmap (machi.lib.search.bitmap): a search combines
    filters and permissions and counts facets with a few operations on whole
    sets, instead of reading and splitting every hit's keys.
    """

    size: int  # one more than the highest dataset id
    everything: int
    public: int
    by_department: dict[int, int]  # DatasetFacets.department_id -> its datasets
    by_key: dict[str, int]  # facet key -> the datasets that have it
    public_counts: Counter[str]  # facet counts of the public catalog
    # Dataset ids in sort order, as arrays: a third of the memory of lists
    # of ints, and nothing for the garbage collector to walk.
    newest_first: "array[int]"  # by modified, newest first; ties: highest id first
    by_title: "array[int]"  # by title, A to Z; ties: lowest id first


_index: tuple[str | None, FacetIndex] | None = None  # (cache token, index) of this process


def facet_index() -> FacetIndex:
    """The FacetIndex of the current catalog version, built once per process.

    It stays in process memory: reading megabytes of bitmaps from the shared
    cache on every search would cost more than it saves. The cache holds a
    token per version, the same for every process, and the index is used
    only while its token is there, so clearing the cache drops it too.
    Inside a transaction the version may yet be rolled back and its number
    reused by another write, so an index read there is never kept.
    """
    global _index
    if connection.in_atomic_block:
        return _build_facet_index()
    key = f"facet-index:{current_version()}"
    token = cache.get(key)
    if token is None:
        # The first process to get here names this version's index for all.
        cache.add(key, uuid.uuid4().hex, timeout=None)
        token = cache.get(key)
    kept = _index  # read once: another thread may replace it meanwhile
    if kept is None or kept[0] != token:
        kept = _index = (token, _build_facet_index())
    return kept[1]


def _build_facet_index() -> FacetIndex:
    with connection.cursor() as cursor:
        # Sorted as text: ISO timestamps order correctly, and the driver
        # skips turning every one of them into a datetime.
        cursor.execute(
            "SELECT dataset_id, is_public, department_id, keys, CAST(modified AS TEXT), title "
            "FROM catalog_datasetfacets ORDER BY dataset_id"
        )
        rows = cursor.fetchall()
    size = (rows[-1][0] if rows else 0) + 1
    public: list[int] = []
    by_department: defaultdict[int, list[int]] = defaultdict(list)
    by_key: defaultdict[str, list[int]] = defaultdict(list)
    for dataset_id, is_public, department_id, keys, _, _ in rows:
        if is_public:
            public.append(dataset_id)
        by_department[department_id].append(dataset_id)
        for key in keys.split("\n"):
            by_key[key].append(dataset_id)
    by_key.pop("", None)  # from the newlines that open and close each keys text
    key_sets = {key: bitmap(ids, size) for key, ids in by_key.items()}
    public_set = bitmap(public, size)
    return FacetIndex(
        size=size,
        everything=bitmap((row[0] for row in rows), size),
        public=public_set,
        by_department={d: bitmap(ids, size) for d, ids in by_department.items()},
        by_key=key_sets,
        public_counts=Counter(
            {key: n for key, ids in key_sets.items() if (n := (ids & public_set).bit_count())}
        ),
        # Stable sorts of the rows in id order: ties go to the highest id
        # newest first (the rows reversed), to the lowest A to Z.
        newest_first=array(
            "q", (row[0] for row in sorted(reversed(rows), key=itemgetter(4), reverse=True))
        ),
        by_title=array("q", (row[0] for row in sorted(rows, key=itemgetter(5)))),
    )


Phrase = tuple[str, ...]


def _phrase(text: str) -> Phrase:
    return tuple(japanese.query_words(text))


def _expansions() -> dict[Phrase, set[Phrase]]:
    """Every known phrase and the phrases that may stand for it, cached until staff edit."""
    synonyms = SynonymSet.objects.aggregate(n=Count("pk"), last=Max("modified"))
    glossary = GlossaryEntry.objects.aggregate(n=Count("pk"), last=Max("modified"))
    key = "search-expansions:" + ":".join(
        str(v.timestamp() if hasattr(v, "timestamp") else v)
        for v in (synonyms["n"], synonyms["last"], glossary["n"], glossary["last"])
    )
    expansions = cache.get(key)
    if expansions is None:
        expansions = _build_expansions()
        cache.set(key, expansions, timeout=3600)
    return expansions


def _build_expansions() -> dict[Phrase, set[Phrase]]:
    groups: list[list[Phrase]] = []
    for synonym_set in SynonymSet.objects.all():
        groups.append([_phrase(term) for term in synonym_set.term_list()])
    for entry in GlossaryEntry.objects.all():
        groups.append([_phrase(entry.english), _phrase(entry.japanese)])
    expansions: dict[Phrase, set[Phrase]] = {}
    for group in groups:
        members = {phrase for phrase in group if phrase}
        for phrase in members:
            expansions.setdefault(phrase, set()).update(members)
    # One more step, so "bicycle parking" -> 自転車駐車場 -> 駐輪場.
    for members in expansions.values():
        for member in list(members):
            members.update(expansions.get(member, ()))
    return expansions


def _word_node(word: str) -> Node:
    # The index holds the parts of compounds (machi.lib.japanese.index_tokens).
    forms = _english_forms(word)
    if len(forms) > 1:  # toilet finds "Public toilets", and toilets "Public toilet"
        return Any(tuple(All(tuple(Token(p) for p in japanese.word_parts(f))) for f in forms))
    return All(tuple(Token(part) for part in japanese.word_parts(word)))


def _english_forms(word: str) -> tuple[str, ...]:
    """An English noun's singular and plural (shelter, shelters; library, libraries)."""
    if not (word.isascii() and word.isalpha() and len(word) >= 3):
        return (word,)
    lower = word.lower()
    if lower.endswith("ies") and len(lower) > 4:
        singular = lower[:-3] + "y"
    elif lower.endswith(("ses", "xes", "ches", "shes")):
        singular = lower[:-2]
    elif lower.endswith("s") and not lower.endswith(("ss", "us", "is")):  # bus, analysis
        singular = lower[:-1]
    else:
        singular = lower
    if singular.endswith("y") and singular[-2:-1] not in tuple("aeiou"):
        plural = singular[:-1] + "ies"
    elif singular.endswith(("s", "x", "ch", "sh")):
        plural = singular + "es"
    else:
        plural = singular + "s"
    return tuple(dict.fromkeys((lower, singular, plural)))


def _phrase_node(phrase: Phrase) -> Node:
    return All(tuple(_word_node(word) for word in phrase))


def _chunk_node(chunk: str, expansions: dict[Phrase, set[Phrase]]) -> Node | None:
    words = list(japanese.query_words(chunk))
    longest = max((len(p) for p in expansions), default=0)
    clauses: list[Node] = []
    i = 0
    while i < len(words):
        for size in range(min(longest, len(words) - i), 0, -1):
            phrase = tuple(words[i : i + size])
            if phrase in expansions:
                clauses.append(Any(tuple(_phrase_node(p) for p in sorted(expansions[phrase]))))
                i += size
                break
        else:
            clauses.append(_word_node(words[i]))
            i += 1
    node = simplify(All(tuple(clauses)))
    normalized = japanese.normalize(chunk)
    if japanese.is_kana(normalized):
        # A word typed in kana alone may mean kanji we index by reading.
        reading = Token(japanese.reading_token(normalized))
        node = simplify(Any((node, reading))) if node else reading
    return node


def parse_query(q: str, expansions: dict[Phrase, set[Phrase]] | None = None) -> Node | None:
    """A search box's text as a token tree: every chunk must match."""
    if expansions is None:
        expansions = _expansions()
    # English phrases ("bicycle parking") span spaces; Japanese chunks do not.
    text = japanese.normalize(q)
    chunks: Sequence[str] = [text] if text.isascii() else text.split()
    nodes = [node for chunk in chunks if (node := _chunk_node(chunk, expansions))]
    return simplify(All(tuple(nodes))) if nodes else None
