#!/usr/bin/env python3
"""Writes the two manual pages (mdoc) from their single sources:

  command  fhir-risk-gateway(8): the page swift-argument-parser's generate-manual made from the
           binary's command definitions (--experimental-dump-help), merged with the sections no
           command definition holds (ENVIRONMENT, FILES, the exit codes, SEE ALSO), which are in
           docs/man/fhir-risk-gateway.8.mdoc.
  config   fhir-risk-gateway.yaml(5): every section and key of Config/gateway.yaml with its value
           and the comments the file gives it (the file documents every key the gateway reads;
           ConfigurationKeysTests enforces that), merged with docs/man/fhir-risk-gateway.yaml.5.mdoc.

Merging: both inputs are split at their `.Sh` lines; a section in both gets the fragment's text
after the generated text; sections are ordered as mdoc(7) orders them.

Usage: generate_manpages.py command GENERATED.8 FRAGMENT OUT [--date YYYY-MM-DD] [--os "NAME VERSION"]
       generate_manpages.py config gateway.yaml FRAGMENT OUT [--date YYYY-MM-DD] [--os "NAME VERSION"]
The date (.Dd) defaults to $SOURCE_DATE_EPOCH's day, so the same sources give the same page.
"""

import argparse
import datetime
import os
import re
import sys

# mdoc(7), MANUAL STRUCTURE.
SECTION_ORDER = [
    "NAME", "LIBRARY", "SYNOPSIS", "DESCRIPTION", "CONTEXT", "IMPLEMENTATION NOTES", "RETURN VALUES",
    "ENVIRONMENT", "FILES", "EXIT STATUS", "EXAMPLES", "DIAGNOSTICS", "ERRORS", "SEE ALSO", "STANDARDS",
    "HISTORY", "AUTHORS", "CAVEATS", "BUGS", "SECURITY CONSIDERATIONS",
]


def page_date(value):
    if value:
        return datetime.date.fromisoformat(value)
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch:
        return datetime.datetime.fromtimestamp(int(epoch), datetime.timezone.utc).date()
    return datetime.datetime.now(datetime.timezone.utc).date()


def dd_line(date):
    return ".Dd %s %d, %d" % (date.strftime("%B"), date.day, date.year)


def split_sections(lines):
    """(prologue lines, [(TITLE, body lines)]) of an mdoc text."""
    prologue, sections = [], []
    for line in lines:
        match = re.match(r'^\.Sh\s+"?([^"]*)"?\s*$', line)
        if match:
            sections.append((match.group(1).upper(), []))
        elif sections:
            sections[-1][1].append(line)
        else:
            prologue.append(line)
    return prologue, sections


def merge(generated, fragment):
    prologue, sections = split_sections(generated)
    extra_prologue, extra = split_sections(fragment)
    if any(line.strip() and not line.startswith('.\\"') for line in extra_prologue):
        sys.exit("generate_manpages: the fragment has text before its first .Sh")
    merged = {}
    titles = []
    for title, body in sections + extra:
        if title not in merged:
            merged[title] = []
            titles.append(title)
        merged[title].extend(body)

    def rank(title):
        return SECTION_ORDER.index(title) if title in SECTION_ORDER else len(SECTION_ORDER)

    titles.sort(key=rank)  # stable: unknown sections keep their order, at the end
    out = list(prologue)
    for title in titles:
        out.append('.Sh "%s"' % title if " " in title else ".Sh %s" % title)
        body = merged[title]
        # A paragraph macro right after .Sh, or two in a row, make mandoc/groff warn.
        while body and body[0] in (".Pp", ""):
            body = body[1:]
        out.extend(body)
    return out


def read_lines(path):
    with open(path, encoding="utf-8") as f:
        return f.read().splitlines()


def write(path, lines):
    with open(path + ".tmp", "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")
    os.replace(path + ".tmp", path)


# ---------------------------------------------------------------------------------------------
# fhir-risk-gateway(8)

def command_page(generated, fragment, date, os_name):
    lines = []
    for line in generated:
        if line.startswith(".Dd "):
            line = dd_line(date)
        elif line.strip() == ".Os" and os_name:
            line = ".Os " + argument(os_name)
        lines.append(line)
    # generate-manual writes `.Ex -std` ("exits 0 on success, and >0 if an error occurs"); the
    # fragment's EXIT STATUS then says which codes mean what.
    return merge(lines, fragment)


# ---------------------------------------------------------------------------------------------
# fhir-risk-gateway.yaml(5)

NAME = r"([a-z][A-Za-z]*)"
SECTION_RE = [re.compile(r"^" + NAME + r":(.*)$"), re.compile(r"^# " + NAME + r":(.*)$")]
KEY_RE = [re.compile(r"^  " + NAME + r":(.*)$"), re.compile(r"^  # " + NAME + r":(.*)$"),
          re.compile(r"^#   " + NAME + r":(.*)$")]
# A comment line whose text starts this far right continues the comment of the line above it.
CONTINUATION_COLUMN = 16


def split_value(rest):
    """'  8443   # its port' -> ('8443', 'its port')."""
    match = re.match(r"^\s*(.*?)\s*(?:(?<![^\s])#\s?(.*))?$", rest)
    value, comment = match.group(1), match.group(2)
    return value, (comment or "").strip()


def comment_text(line):
    """(column, text) of a comment-only line: the text after its last leading '#'."""
    match = re.match(r"^(#?)(\s*)#\s?(.*)$", line)
    if match and match.group(1):
        # "#   # text" or "#        # text": a comment inside a commented-out block.
        return len(match.group(1)) + len(match.group(2)), match.group(3)
    match = re.match(r"^(\s*)#\s?(.*)$", line)
    return len(match.group(1)), match.group(2)


def environment_name(key):
    """The environment variable that overrides a key, as swift-configuration's
    EnvironmentKeyEncoder makes it: a lower-case letter followed by an upper-case one is a word
    boundary; dots and word boundaries become underscores; upper case (baseURL -> BASE_URL)."""
    parts = []
    for component in key.split("."):
        component = re.sub(r"([a-z])(?=[A-Z])", r"\1_", component)
        parts.append(re.sub(r"[^A-Za-z0-9]", "_", component.upper()))
    return "_".join(parts)


def parse_config(lines):
    """The file as data: its header comment, its sections (name, set?, comments, keys) and the
    comment after the last section. A key is (name, value, set?, comment lines)."""
    header, sections, trailing = [], [], []
    block = []            # top-level comment lines since the last blank line or item
    above = []            # key-level comment lines right above the next key
    last = None           # the section or key the next continuation line belongs to
    for line in lines:
        if not line.strip():
            if not sections and block and not header:
                header, block = block, []
            above = []
            last = None
            continue
        section = next((m for m in (r.match(line) for r in SECTION_RE) if m), None)
        key = next(((i, m) for i, m in enumerate(r.match(line) for r in KEY_RE) if m), None)
        if section and not line.startswith("  "):
            value, comment = split_value(section.group(2))
            entry = {"name": section.group(1), "set": not line.startswith("#"), "intro": block,
                     "comment": [comment] if comment else [], "keys": []}
            sections.append(entry)
            block, above, last = [], [], entry["comment"]
            continue
        if key and sections:
            kind, match = key
            value, comment = split_value(match.group(2))
            entry = {"name": match.group(1), "value": value,
                     "set": kind == 0 and sections[-1]["set"],
                     "comment": above + ([comment] if comment else [])}
            sections[-1]["keys"].append(entry)
            above, last = [], entry["comment"]
            continue
        if "#" not in line:
            sys.exit("generate_manpages: a line of the configuration that is neither a key nor a comment: %r" % line)
        column, text = comment_text(line)
        if column >= CONTINUATION_COLUMN and last is not None:
            last.append(text)
        elif column == 0:
            block.append(text)
            last = None
        else:
            above.append(text)
            last = None
    trailing = block
    if not header and sections and sections[0]["intro"]:
        header, sections[0]["intro"] = sections[0]["intro"], []
    return header, sections, trailing


def escape(text):
    """Text for an mdoc text line: backslashes escaped, no leading dot or quote."""
    text = text.replace("\\", "\\e")
    if text.startswith((".", "'")):
        text = "\\&" + text
    return text


def argument(text):
    """One macro argument, quoted."""
    return '"%s"' % text.replace("\\", "\\e").replace('"', '\\(dq')


def prose(comments):
    """Comment lines as mdoc text lines; a line indented in the file (a command to type) is shown
    as a literal display."""
    out, literal = [], []

    def flush():
        if literal:
            out.append(".Bd -literal -offset indent")
            out.extend(escape(l) for l in literal)
            out.append(".Ed")
            literal.clear()

    for text in comments:
        if text.startswith("  "):
            literal.append(text.strip())
            continue
        flush()
        if text.strip():
            out.append(escape(text.strip()))
    flush()
    return out


def documented_keys(lines):
    """The keys the file documents, by the grammar of ConfigurationKeysTests.documentedKeys (a
    section is `name:` or `# name:` at the start of a line, a key `  name:`, `  # name:` or
    `#   name:`): the page must describe exactly these."""
    keys, section = set(), None
    for line in lines:
        match = re.match(r"^(?:# )?([A-Za-z]+):", line)
        if match and not line.startswith("  "):
            section = match.group(1)
            continue
        match = re.match(r"^(?:  # |#   |  )([A-Za-z]+):", line)
        if match and section:
            keys.add("%s.%s" % (section, match.group(1)))
    return keys


def config_page(lines, fragment, date, source, os_name):
    header, sections, trailing = parse_config(lines)
    described = {"%s.%s" % (s["name"], k["name"]) for s in sections for k in s["keys"]}
    if described != documented_keys(lines):
        sys.exit("generate_manpages: the page would describe %s but %s documents %s" % (
            sorted(described), source, sorted(documented_keys(lines))))
    out = ['.\\" Generated by Generator/generate_manpages.py from %s: edit that file, not this page.' % source,
           dd_line(date), ".Dt FHIR-RISK-GATEWAY.YAML 5", ".Os " + argument(os_name) if os_name else ".Os",
           ".Sh NAME", ".Nm fhir-risk-gateway.yaml",
           ".Nd configuration file of the FHIR risk gateway",
           ".Sh SYNOPSIS", ".Pa /etc/fhir-risk-gateway/gateway.yaml",
           ".Sh DESCRIPTION"]
    out += prose(header)
    out += [".Pp",
            "The sections and keys below are those of the shipped file, in its order.",
            "A key shown with",
            ".Sy set",
            "has that value in the shipped file;",
            "one shown with",
            ".Sy example",
            "is commented out there, so the gateway uses its default (the text says which) until it is set.",
            "After each key is the environment variable that overrides it."]
    for section in sections:
        out.append(".Ss %s" % section["name"])
        # The section's own comment says what it is; the comment block above it, how to use it.
        text = prose(section["comment"])
        if not section["set"]:
            text += ["(The whole section is commented out in the shipped file.)"]
        if section["intro"]:
            text += ([".Pp"] if text else []) + prose(section["intro"])
        out += text
        if section["keys"]:
            out.append(".Bl -tag -width Ds")
            for key in section["keys"]:
                full = "%s.%s" % (section["name"], key["name"])
                out.append(".It Cm %s Ns : Li %s" % (full, argument(key["value"])) if key["value"]
                           else ".It Cm %s" % full)
                out.append(".Sy %s ;" % ("set" if key["set"] else "example"))
                out.append(".Ev %s" % environment_name(full))
                out.append(".br")
                out += prose(key["comment"])
            out.append(".El")
    if trailing:
        out += [".Ss Notes"] + prose(trailing)
    return merge(out, fragment)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("page", choices=["command", "config"])
    parser.add_argument("source")
    parser.add_argument("fragment")
    parser.add_argument("out")
    parser.add_argument("--date", help="YYYY-MM-DD (default: $SOURCE_DATE_EPOCH's day, else today)")
    parser.add_argument("--os", default="", help="the footer's name and version, e.g. 'fhir-risk-gateway 0.1.0'")
    args = parser.parse_args()
    date = page_date(args.date)
    source, fragment = read_lines(args.source), read_lines(args.fragment)
    if args.page == "command":
        write(args.out, command_page(source, fragment, date, args.os))
    else:
        write(args.out, config_page(source, fragment, date, os.path.relpath(args.source), args.os))


if __name__ == "__main__":
    main()
