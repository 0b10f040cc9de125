"""Read Terraform/OpenTofu modules statically: blocks with their lines, variables, locals,
module calls, ``count`` and ``for_each``; every resource instance becomes a
:class:`~.planned.Planned` resource whose unresolvable values are :class:`Unknown`."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from ...model import SourceLocation
from . import policydoc
from .hcl import Unresolvable, follow, resource_reference, text_of, value_or_unknown
from .planned import Planned
from .values import Unknown, first_unknown

MAX_MODULE_DEPTH = 16


class CodeError(Exception):
    """A module, file or block that cannot be read; ``location`` names where."""

    def __init__(self, reason: str, location: SourceLocation | None = None,
                 address: str | None = None, planned: bool = False) -> None:
        super().__init__(reason)
        self.location = location
        self.address = address
        #: A plan answers it (instances the code cannot count, modules it does not hold).
        self.planned = planned


@dataclasses.dataclass
class Block:
    kind: str
    labels: list[str]
    node: Any
    path: str
    line: int
    end_line: int

    def attributes(self) -> dict[str, Any]:
        return attributes(self.node.body)


def attributes(body: Any) -> dict[str, Any]:
    """Attribute name -> expression node of a block body."""
    found = {}
    for child in body.children:
        if type(child).__name__ == "AttributeRule":
            found[_name(child.identifier)] = child.expression
    return found


def nested_blocks(body: Any) -> list[Any]:
    return [c for c in body.children if type(c).__name__ == "BlockRule"]


def _name(node: Any) -> str:
    value = node.serialize()
    return str(value).strip('"')


def parse_file(path: Path, shown: str) -> list[Block]:
    """The top-level blocks of one ``.tf`` file, with their lines."""
    import hcl2

    try:
        start = hcl2.parses(path.read_text(encoding="utf-8"), discard_comments=True)
    except Exception as exc:  # lark raises many kinds; each is one unreadable file
        raise CodeError(f"{shown}: cannot parse: {type(exc).__name__}: "
                        f"{str(exc).splitlines()[0] if str(exc) else ''}",
                        SourceLocation(path=shown)) from None
    return [Block(_name(b.labels[0]), [_name(label) for label in b.labels[1:]], b, shown,
                  b._meta.line, b._meta.end_line)
            for b in nested_blocks(start.body)]


def parse_tfvars(path: Path) -> dict[str, Any]:
    """Variable values of a ``.tfvars`` file (constants only)."""
    import hcl2

    start = hcl2.parses(path.read_text(encoding="utf-8"), discard_comments=True)
    return {name: value_or_unknown(node, _NO_NAMES) for name, node in
            attributes(start.body).items()}


class _Constants:
    def lookup(self, root: str, path: list[Any], text: str) -> Any:
        raise Unresolvable(Unknown(f"expression `{text}`: a tfvars value must be constant"))


_NO_NAMES = _Constants()


@dataclasses.dataclass
class ModuleCode:
    """The blocks of one module folder."""

    folder: Path
    shown: str
    blocks: list[Block]

    def of(self, kind: str) -> list[Block]:
        return [b for b in self.blocks if b.kind == kind]


#: Files whose meaning a plain reading would get wrong: say so instead of misreading them.
UNREAD = (("*.tf.json", "Terraform JSON syntax is not read; give plan_json"),
          ("override.tf", "override files are not merged; give plan_json"),
          ("*_override.tf", "override files are not merged; give plan_json"))


def load_module(folder: Path, base: Path) -> ModuleCode:
    shown = _display(folder, base)
    for pattern, why in UNREAD:
        for unread in sorted(folder.glob(pattern)):
            raise CodeError(f"{_display(unread, base)}: {why}",
                            SourceLocation(path=_display(unread, base)))
    files = sorted(folder.glob("*.tf"))
    if not files:
        raise CodeError(f"{shown}: no .tf file", SourceLocation(path=shown))
    blocks: list[Block] = []
    for file in files:
        blocks.extend(parse_file(file, _display(file, base)))
    return ModuleCode(folder, shown, blocks)


def _display(path: Path, base: Path) -> str:
    try:
        return path.resolve().relative_to(base.resolve()).as_posix()
    except ValueError:
        return path.resolve().as_posix()


class ModuleScope:
    """Names of one module instance: its variables, locals, ``each``/``count``, ``path``."""

    def __init__(self, code: ModuleCode, variables: Mapping[str, Any], prefix: str) -> None:
        self.code = code
        self.variables = dict(variables)
        self.prefix = prefix
        self.instance: dict[str, Any] = {}
        self._locals = {name: node for block in code.of("locals")
                        for name, node in attributes(block.node.body).items()}
        self._values: dict[str, Any] = {}
        self._evaluating: set[str] = set()
        self._documents = {block.labels[1]: block for block in code.of("data")
                           if block.labels[0] == policydoc.DATA_TYPE
                           and not {"count", "for_each"} & set(block.attributes())}

    def with_instance(self, **names: Any) -> ModuleScope:
        scope = ModuleScope.__new__(ModuleScope)
        scope.__dict__.update(self.__dict__)
        scope.instance = names
        return scope

    def lookup(self, root: str, path: list[Any], text: str) -> Any:
        if root == "var":
            return self._named(self.variables, "variable", path, text)
        if root == "local":
            if not path or path[0] not in self._locals:
                raise Unresolvable(Unknown(f"expression `{text}`: no such local"))
            return follow(self._local(path[0], self._locals[path[0]]), path[1:], text)
        if root in ("each", "count") and root in self.instance:
            return follow(self.instance[root], path, text)
        if root == "data" and len(path) >= 3 and path[0] == policydoc.DATA_TYPE \
                and path[1] in self._documents and path[2] in policydoc.RENDERED:
            return self._local(f"data.{path[1]}", self._documents[path[1]])
        if root == "path":
            return follow({"module": self.code.shown, "root": ".", "cwd": "."}, path, text)
        found = resource_reference(root, path, text)
        if found.address and root not in ("data", "module", "self", "terraform"):
            return Unknown(found.reason, address=self.prefix + found.address)
        if root == "data":
            return Unknown(found.reason, address=self.prefix + (found.address or ""))
        return found

    def _named(self, values: Mapping[str, Any], what: str, path: list[Any], text: str) -> Any:
        if not path or path[0] not in values:
            raise Unresolvable(Unknown(f"expression `{text}`: no such {what}"))
        return follow(values[path[0]], path[1:], text)

    def _local(self, name: str, node: Any) -> Any:
        """A local's value (or a policy document's JSON), computed once."""
        if name not in self._values:
            if name in self._evaluating:
                raise Unresolvable(Unknown(f"{_named(name)} refers to itself"))
            self._evaluating.add(name)
            try:
                if isinstance(node, Block):
                    self._values[name] = policydoc.render(
                        block_values(node.node.body, self), f"{self.prefix}{name}")
                else:
                    self._values[name] = value_or_unknown(node, self)
            finally:
                self._evaluating.discard(name)
        return self._values[name]


def _named(name: str) -> str:
    return name if name.startswith("data.") else f"local.{name}"


def block_values(body: Any, scope: ModuleScope) -> dict[str, Any]:
    """Every attribute and nested block of a resource body, evaluated."""
    values: dict[str, Any] = {}
    for name, node in attributes(body).items():
        if name not in ("count", "for_each", "provider", "depends_on"):
            values[name] = value_or_unknown(node, scope)
    for child in nested_blocks(body):
        kind = _name(child.labels[0])
        if kind == "dynamic":
            label = _name(child.labels[1])
            values[label] = Unknown(f"dynamic block {label!r} is not expanded statically")
        elif kind != "lifecycle":
            values.setdefault(kind, []).append(block_values(child.body, scope))
    return values


def instances(block: Block, scope: ModuleScope) -> Iterator[tuple[str, ModuleScope]]:
    """(address suffix, scope) per instance of a block with ``count`` or ``for_each``."""
    found = block.attributes()
    if "count" in found:
        count = _meta_argument(found["count"], scope, "count")
        for index in range(int(count)):
            yield f"[{index}]", scope.with_instance(count={"index": index})
    elif "for_each" in found:
        each = _meta_argument(found["for_each"], scope, "for_each")
        items = each.items() if isinstance(each, Mapping) else ((k, k) for k in each)
        for key, value in items:
            yield f'["{key}"]', scope.with_instance(each={"key": key, "value": value})
    else:
        yield "", scope


def _meta_argument(node: Any, scope: ModuleScope, name: str) -> Any:
    value = value_or_unknown(node, scope)
    missing = first_unknown(value)
    if missing is not None:
        raise CodeError(f"{name} = {text_of(node)} cannot be resolved statically "
                        f"({missing.reason}); give a plan (plan_json) to audit its instances",
                        planned=True)
    return value


@dataclasses.dataclass
class TerraformReader:
    """Reads a root module and the local modules it calls into planned resources."""

    base: Path
    errors: list[CodeError] = dataclasses.field(default_factory=list)
    resources: list[Planned] = dataclasses.field(default_factory=list)

    def read(self, folder: Path, variables: Mapping[str, Any], prefix: str = "",
             depth: int = 0) -> None:
        code = load_module(folder, self.base)
        scope = ModuleScope(code, self._variables(code, variables), prefix)
        for block in code.of("resource"):
            self._resource(block, scope, prefix)
        for block in code.of("module"):
            self._module(block, scope, prefix, depth)

    def _variables(self, code: ModuleCode, given: Mapping[str, Any]) -> dict[str, Any]:
        values = {}
        for block in code.of("variable"):
            name = block.labels[0]
            if name in given:
                values[name] = given[name]
            elif "default" in block.attributes():
                values[name] = value_or_unknown(block.attributes()["default"], _NO_NAMES)
            else:
                values[name] = Unknown(f"variable {name!r} has no value (no default, no "
                                       "tfvars, no variables option)")
        return values

    def _location(self, block: Block, address: str) -> SourceLocation:
        return SourceLocation(path=block.path, line=block.line, end_line=block.end_line,
                              address=address)

    def _resource(self, block: Block, scope: ModuleScope, prefix: str) -> None:
        kind, name = block.labels[0], block.labels[1]
        address = f"{prefix}{kind}.{name}"
        try:
            for suffix, instance in instances(block, scope):
                self.resources.append(Planned(
                    kind, address + suffix, block_values(block.node.body, instance),
                    self._location(block, address + suffix)))
        except CodeError as exc:
            self.errors.append(CodeError(str(exc), self._location(block, address), address,
                                         exc.planned))
        except RecursionError:  # an expression nested deeper than the reader goes
            self.errors.append(CodeError("expressions nested too deeply to evaluate",
                                         self._location(block, address), address))

    def _module(self, block: Block, scope: ModuleScope, prefix: str, depth: int) -> None:
        name = block.labels[0]
        address = f"{prefix}module.{name}"
        found = block.attributes()
        source = value_or_unknown(found["source"], scope) if "source" in found else None
        location = self._location(block, address)
        if not isinstance(source, str) or not source.startswith(("./", "../")):
            self.errors.append(CodeError(
                f"module source {source!r} is not a local path: its resources are not read "
                "statically (vendor the module, or give plan_json)", location, address,
                planned=True))
            return
        if depth >= MAX_MODULE_DEPTH:
            self.errors.append(CodeError("modules nested too deep", location, address))
            return
        folder = (scope.code.folder / source).resolve()
        try:
            for suffix, instance in instances(block, scope):
                inputs = {key: value_or_unknown(node, instance) for key, node in found.items()
                          if key not in ("source", "version", "count", "for_each",
                                         "providers", "depends_on")}
                self.read(folder, inputs, f"{address}{suffix}.", depth + 1)
        except CodeError as exc:
            self.errors.append(CodeError(str(exc), exc.location or location,
                                         exc.address or address, exc.planned))
