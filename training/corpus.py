"""Extract the King James Bible (Debian package bible-kjv / bible-kjv-text)
as plain text and split it into a training and a held-out validation part.

Format: each chapter is a heading line ("Genesis 1"), then one verse per
line without its number, then a blank line. Every 50th chapter (chapters
50, 100, ... in canonical order) is held out for validation; the rest is
training text. Both splits come from the same public-domain source.
"""
import argparse
import os
import re
import subprocess

VERSE = re.compile(r"^\s+\d+ (.*)$")


def read_chapters(bible_cmd):
    # -l with a huge width stops the program from wrapping verses.
    out = subprocess.run([bible_cmd, "-l100000", "gen1:1-rev22:21"], check=True,
                         capture_output=True, text=True).stdout
    chapters, cur = [], None
    for line in out.splitlines():
        if not line.strip():
            continue
        m = VERSE.match(line)
        if m:
            cur[1].append(m.group(1).strip())
        else:
            cur = (line.strip(), [])
            chapters.append(cur)
    return chapters


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True, help="folder for train.txt and valid.txt")
    ap.add_argument("--every", type=int, default=50, help="hold out every Nth chapter")
    ap.add_argument("--bible", default="bible", help="the bible-kjv program")
    a = ap.parse_args()
    chapters = read_chapters(a.bible)
    assert len(chapters) == 1189, f"expected 1189 chapters, got {len(chapters)}"
    os.makedirs(a.out, exist_ok=True)
    parts = {"train": [], "valid": []}
    for i, (head, verses) in enumerate(chapters):
        text = head + "\n" + "\n".join(verses) + "\n\n"
        parts["valid" if (i + 1) % a.every == 0 else "train"].append(text)
    for name, texts in parts.items():
        with open(os.path.join(a.out, name + ".txt"), "w", encoding="utf-8") as f:
            f.write("".join(texts))
        print(f"{name}: {len(texts)} chapters, {sum(map(len, texts))} characters")


if __name__ == "__main__":
    main()
