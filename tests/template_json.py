"""Prints a CloudFormation YAML template as JSON, short tags (!Ref, !GetAtt, !Sub…) turned
into their long forms, so the Rust tests can read template.yaml without a YAML crate.

Usage: python template_json.py template.yaml
"""

import json
import sys

import yaml


class CloudFormationLoader(yaml.SafeLoader):
    pass


def long_form(loader, suffix, node):
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    if suffix == "GetAtt" and isinstance(value, str):
        value = value.split(".", 1)
    return {"Ref" if suffix == "Ref" else f"Fn::{suffix}": value}


CloudFormationLoader.add_multi_constructor("!", long_form)


def load(path):
    """The template at `path` as plain data, intrinsics in their long forms."""
    with open(path, encoding="utf-8") as template:
        return yaml.load(template, Loader=CloudFormationLoader)


if __name__ == "__main__":
    json.dump(load(sys.argv[1]), sys.stdout)
