"""JVM artifacts handed to Spark through ``spark.jars``.

``make setup`` resolves them with Maven (jvm/pom.xml) into ``.jars/<group>/``. Maven copies every runtime
dependency, including jars that pyspark already ships (scala-library, jackson, hadoop-client, parquet,
log4j ...). Two versions of one library on the classpath is a classic source of NoSuchMethodError, so
``prune`` drops every jar whose artifact pyspark already provides, whatever its version.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

# The source tree (lib/clout/jvm.py -> the project root) when clout runs from one; a wheel installed on a cluster, or
# imported from the zip spark-submit ships, has none: relative paths then resolve under the working directory.
_SOURCE_ROOT = Path(__file__).resolve().parents[2]
SOURCE_TREE: Path | None = _SOURCE_ROOT if (_SOURCE_ROOT / "conf" / "base.yaml").is_file() and (_SOURCE_ROOT / "lib" / "clout").is_dir() else None
PROJECT_ROOT = SOURCE_TREE or Path.cwd()
JARS_DIR = PROJECT_ROOT / ".jars"
_VERSIONED_JAR = re.compile(r"^(?P<artifact>.+?)-\d[\w.\-]*\.jar$")


class JarsMissing(RuntimeError):
    """The JVM artifacts a stage needs were not resolved by ``make setup``."""


def artifact_name(jar_file: str) -> str:
    """'jackson-core-2.13.5.jar' -> 'jackson-core'; names without a version are kept whole."""
    match = _VERSIONED_JAR.match(jar_file)
    return match.group("artifact") if match else jar_file.removesuffix(".jar")


def spark_home_jars() -> Path:
    import pyspark

    return Path(pyspark.__file__).parent / "jars"


def prune(jar_dir: Path, provided_dir: Path | None = None) -> list[str]:
    """Delete jars in ``jar_dir`` whose artifact is already in pyspark's own jars; return their names."""
    provided = {artifact_name(p.name) for p in (provided_dir or spark_home_jars()).glob("*.jar")}
    removed = []
    for jar in sorted(jar_dir.glob("*.jar")):
        if artifact_name(jar.name) in provided:
            jar.unlink()
            removed.append(jar.name)
    return removed


def jar_group(group: str, jars_dir: Path = JARS_DIR) -> list[str]:
    """The resolved jars of one group ('delta', 'graphframes'); empty when not resolved."""
    folder = jars_dir / group
    if not (folder / ".resolved").exists():
        return []
    return sorted(str(p) for p in folder.glob("*.jar"))


def unavailable_reason(group: str, jars_dir: Path = JARS_DIR) -> str:
    log = jars_dir / f"{group}.log"
    if log.exists():
        return f"Maven's last attempt is logged in {log}"
    return f"nothing resolved under {jars_dir / group}"


def main(argv: list[str]) -> int:
    if len(argv) == 2 and argv[0] == "prune":
        removed = prune(Path(argv[1]))
        kept = sorted(p.name for p in Path(argv[1]).glob("*.jar"))
        print(f"jars: kept {len(kept)} ({', '.join(kept)}); dropped {len(removed)} already shipped by pyspark")
        return 0
    print("usage: python -m clout.jvm prune DIR", file=sys.stderr)
    return 2


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
