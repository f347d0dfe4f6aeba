"""``berth image import|ls|rm``: the node's local image store.

Works directly on the store directory (``--image-dir``, the same default as
``berth node``), so it needs no API server.  ``import`` takes an OCI layout
directory, an OCI archive or a docker archive; ``ls`` prints names, ids and
sizes; ``rm`` untags a name or deletes an id.  Store errors are printed as
one line naming the file or reference.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--image-dir", type=Path, default=Path("/var/lib/berth/images"),
                        help="the image store (default /var/lib/berth/images)")
    sub = parser.add_subparsers(dest="image_command", metavar="ACTION", required=True)
    imp = sub.add_parser("import", help="import an OCI layout, OCI archive or docker archive")
    imp.add_argument("file", type=Path)
    imp.add_argument("--name", help="name to give the image (default: from the archive)")
    sub.add_parser("ls", help="list images")
    rm = sub.add_parser("rm", help="remove an image by name or id")
    rm.add_argument("names", nargs="+")


def _size(n: int) -> str:
    for unit in ("B", "kB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n:.0f}{unit}" if unit == "B" else f"{n:.1f}{unit}"
        n = n / 1000  # type: ignore[assignment]
    return str(n)


def main(args: argparse.Namespace) -> int:
    from berth.images import ImageStore
    from berth.images.errors import ImageError

    store = ImageStore(args.image_dir)
    try:
        if args.image_command == "import":
            if not args.file.exists():
                print(f"error: {args.file}: no such file or directory", file=sys.stderr)
                return 1
            for image in store.import_path(args.file, args.name):
                print(f"imported {', '.join(image.names) or image.id} ({image.id[:19]})")
        elif args.image_command == "ls":
            print(f"{'NAME':<50} {'IMAGE ID':<20} SIZE")
            for image in store.list_images():
                for name in image.names or ["<none>"]:
                    print(f"{name:<50} {image.id[7:19]:<20} {_size(image.size)}")
        else:
            for name in args.names:
                deleted = store.remove(name)
                print(f"deleted {deleted[0]}" if deleted else f"untagged {name}")
    except ImageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0
