"""The packages of the wheel: the code under lib/, and conf/ shipped inside it as clout/conf/ (package data).

A wheel installed on a cluster (or handed to spark-submit with --py-files) has no source tree around it: it finds its
conf with importlib.resources (clout.config.conf_dir). conf/ at the project root stays the one copy anyone edits; this
mapping copies it into the wheel at build time. setup.py because pyproject's packages.find cannot name a package
that lives outside its search folder.
"""

from setuptools import find_packages, setup

setup(
    packages=[*find_packages("lib"), "clout.conf", "clout.conf.algorithms"],
    package_dir={"": "lib", "clout.conf": "conf", "clout.conf.algorithms": "conf/algorithms"},
    package_data={"clout": ["py.typed"], "clout.conf": ["*.yaml"], "clout.conf.algorithms": ["*.yaml"]},
)
