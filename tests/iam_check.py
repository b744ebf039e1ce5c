"""The roles template.yaml gives its functions, as AWS will create them, and IAM's answer to
each AWS request a function makes.

The template is translated by SAM's own translator (`samtranslator`, the one `sam deploy` and
CloudFormation's `AWS::Serverless` transform run), so policy templates, event sources and
invoke configs come out as the IAM statements AWS will hold. `moto_server.py` asks `Roles`
about every request it receives that a function signed: a function is told apart by its
access key id, which is the function's name (its binary, as under `functions/src/bin`), as
the role's session is on AWS. A request no statement allows is answered `AccessDenied`, as
AWS would answer it, and journaled.

The command line lists grants that no test exercised, from the usage moto_server.py wrote:

    python iam_check.py unexercised template.yaml USAGE_DIR
    python iam_check.py literal-partitions template.yaml   # ARNs that name a partition

Each such grant must be removed or carry its reason in the function's `Metadata`
(`iam: notExercised: [{action, reason}]`); one without fails the run.
"""

import copy
import fnmatch
import functools
import hashlib
import json
import os
import re
import sys
import tempfile
from dataclasses import dataclass
from urllib.parse import parse_qs, unquote

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import template_json  # noqa: E402

ACCOUNT = "123456789012"  # moto's account

# Access keys that are not a function's: the local server's own wiring that stands in for
# Lambda's event source mappings (stream reads, checkpoints, the SQS queues that stand in
# for asynchronous invocation). A request under it that is anything else came from
# function code that ran outside any function: an error.
LOCAL_WIRING = "kickboard-local-wiring"


@dataclass(frozen=True)
class Grant:
    """One action of one statement of a function's role."""

    function: str
    policy: str
    action: str
    resource: str  # the statement's Resource (or NotResource) as written, JSON: intrinsics unresolved
    negated: bool = False  # NotResource: every resource but these
    when: tuple = ()  # (condition, holds) pairs under which the statement exists (`Fn::If`)

    def key(self):
        return f"{self.function} {self.action} {'NotResource ' if self.negated else ''}{self.resource}"


def _translate(sam_template, region):
    from boto3.session import Session
    from samtranslator.parser import parser
    from samtranslator.translator.translator import Translator

    template = copy.deepcopy(sam_template)
    # The translator needs code in S3; where it is does not change a role.
    template.setdefault("Globals", {}).setdefault("Function", {})["CodeUri"] = "s3://code/bootstrap.zip"
    for resource in template["Resources"].values():
        if resource["Type"] == "AWS::Serverless::Function":
            resource["Properties"]["CodeUri"] = "s3://code/bootstrap.zip"
    translator = Translator(
        managed_policy_map=None, sam_parser=parser.Parser(), plugins=[], boto_session=Session(region_name=region)
    )
    return translator.translate(sam_template=template, parameter_values={}, get_managed_policy_map=lambda: None)


def _as_list(value):
    return value if isinstance(value, list) else [value]


def without_actions(sam_template, removed):
    """A copy of the template whose functions lack the (binary, action) pairs in `removed`."""
    template = copy.deepcopy(sam_template)
    for resource in template["Resources"].values():
        binary = resource.get("Metadata", {}).get("BuildProperties", {}).get("Binary")
        for policy in resource.get("Properties", {}).get("Policies", []) or []:
            for statement in policy.get("Statement", []) if isinstance(policy, dict) else []:
                if "Action" not in statement:
                    continue  # a statement behind `Fn::If`: not one the tests take actions from
                actions = _as_list(statement["Action"])
                statement["Action"] = [a for a in actions if (binary, a) not in removed]
    return template


def translated(path, region="us-east-1", removed=()):
    """The CloudFormation that `template.yaml` at `path` becomes, functions lacking `removed`.
    Kept in the temporary directory by content: every test's emulator asks for it."""
    sam_template = template_json.load(path)
    if removed:
        sam_template = without_actions(sam_template, set(removed))
    text = json.dumps(sam_template, sort_keys=True)
    digest = hashlib.sha256(f"{region}{text}".encode()).hexdigest()[:16]
    cached = os.path.join(tempfile.gettempdir(), f"kickboard-iam-{digest}.json")
    try:
        with open(cached, encoding="utf-8") as kept:
            return sam_template, json.load(kept)
    except (OSError, ValueError):
        pass
    cfn = _translate(sam_template, region)
    partial = f"{cached}.{os.getpid()}"
    with open(partial, "w", encoding="utf-8") as kept:
        json.dump(cfn, kept)
    os.replace(partial, cached)
    return sam_template, cfn


class Roles:
    """Every function's grants, resolved against the resources of one deployment."""

    def __init__(self, path, removed=()):
        self.sam_template, self.cfn = translated(path, removed=removed)
        self.grants = {}  # binary -> [Grant]
        self.reasons = {}  # binary -> {action: reason}
        resources = self.cfn["Resources"]
        for logical, resource in self.sam_template["Resources"].items():
            if resource["Type"] != "AWS::Serverless::Function":
                continue
            binary = resource["Metadata"]["BuildProperties"]["Binary"]
            role = resources[resources[logical]["Properties"]["Role"]["Fn::GetAtt"][0]]
            grants = []
            for policy in role["Properties"].get("Policies", []):
                for statement, when in _statements(policy["PolicyDocument"]["Statement"]):
                    if statement["Effect"] != "Allow" or "Condition" in statement or "NotAction" in statement:
                        raise ValueError(f"{binary}: only Allow statements without conditions are understood here: {statement}")
                    negated = "NotResource" in statement
                    targets = statement["NotResource"] if negated else statement["Resource"]
                    for action in _as_list(statement["Action"]):
                        for target in [targets] if negated else _as_list(targets):
                            written = json.dumps(target, sort_keys=True)
                            grants.append(Grant(binary, policy["PolicyName"], action, written, negated, when))
            self.grants[binary] = grants
            written = resource["Metadata"].get("iam", {}).get("notExercised", [])
            self.reasons[binary] = {entry["action"]: entry["reason"] for entry in written}
        self.parameters = {
            name: str(parameter.get("Default", "")) for name, parameter in self.sam_template.get("Parameters", {}).items()
        }

    def functions(self):
        return set(self.grants)

    def allowing(self, deployment, function, action, resource):
        """The grants of `function` that allow `action` on `resource` in `deployment`."""
        allowed = []
        for grant in self.grants.get(function, []):
            if not _action_matches(grant.action, action):
                continue
            if not all(deployment.holds(condition) == holds for condition, holds in grant.when):
                continue
            named = any(_resource_matches(pattern, resource) for pattern in deployment.resolve(grant.resource))
            if named != grant.negated:
                allowed.append(grant)
        return allowed


def _statements(statements, when=()):
    """A policy's statements with the conditions each exists under: a statement written as
    `Fn::If` is either branch, under its condition or its negation (`AWS::NoValue` is none)."""
    for statement in _as_list(statements):
        if set(statement) == {"Fn::If"}:
            condition, then, otherwise = statement["Fn::If"]
            for branch, holds in ((then, True), (otherwise, False)):
                if branch != {"Ref": "AWS::NoValue"}:
                    yield from _statements(branch, when + ((condition, holds),))
        else:
            yield statement, when


def _action_matches(pattern, action):
    return fnmatch.fnmatchcase(action.lower(), pattern.lower())


def _resource_matches(pattern, resource):
    """IAM's match: `*` any run of characters (`/` and `:` included), `?` one; case matters."""
    return pattern is not None and _compiled(pattern).fullmatch(resource) is not None


@functools.lru_cache(maxsize=None)
def _compiled(pattern):
    return re.compile("".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern))


class Deployment:
    """What the template's names and pseudo parameters stand for in one deployment."""

    def __init__(self, roles, region, names):
        """`names`: the table, bus and topic names the harness created, by logical id."""
        self.region = region
        self.pseudo = {"AWS::Partition": "aws", "AWS::Region": region, "AWS::AccountId": ACCOUNT, "AWS::URLSuffix": "amazonaws.com"}
        self.attributes = {}
        for logical, name in names.get("tables", {}).items():
            arn = table_arn(region, name)
            self.attributes[logical] = {"Ref": name, "Arn": arn, "StreamArn": f"{arn}/stream/*"}
        for logical, name in names.get("buses", {}).items():
            self.attributes[logical] = {"Ref": name, "Name": name, "Arn": f"arn:aws:events:{region}:{ACCOUNT}:event-bus/{name}"}
        for logical, arn in names.get("topics", {}).items():
            self.attributes[logical] = {"Ref": arn, "TopicArn": arn, "TopicName": arn.rsplit(":", 1)[1]}
        for logical, arn in names.get("platformApplications", {}).items():
            self.attributes[logical] = {"Ref": arn}
        self.parameters = dict(roles.parameters)
        self.parameters.update(names.get("parameters", {}))
        self.conditions = roles.sam_template.get("Conditions", {})
        self._resolved = {}

    def holds(self, condition):
        """Whether the template's condition named `condition` holds with these parameters."""
        return bool(self._value(self.conditions[condition]))

    def resolve(self, written):
        """The resource patterns a statement's Resource (as JSON) stands for here: none where
        it names what this deployment does not have."""
        if written not in self._resolved:
            try:
                resolved = _as_list(self._value(json.loads(written)))
                self._resolved[written] = [pattern for pattern in resolved if pattern is not _NO_VALUE]
            except KeyError:
                self._resolved[written] = []
        return self._resolved[written]

    def _value(self, value):
        if isinstance(value, (str, int, bool)):
            return value
        if isinstance(value, list):
            return [self._value(item) for item in value]
        (function, argument), = value.items()
        if function == "Ref" and argument == "AWS::NoValue":
            return _NO_VALUE
        if function == "Fn::If":
            condition, then, otherwise = argument
            return self._value(then if self.holds(condition) else otherwise)
        if function in ("Condition", "Fn::Condition"):  # the loader spells `!Condition` so
            return self.holds(argument)
        if function == "Fn::Not":
            return not self._value(argument[0])
        if function == "Fn::Equals":
            return self._value(argument[0]) == self._value(argument[1])
        if function == "Fn::Or":
            return any(self._value(item) for item in argument)
        if function == "Fn::And":
            return all(self._value(item) for item in argument)
        if function == "Fn::Select":
            index, items = argument
            return self._value(items)[int(self._value(index))]
        if function == "Fn::Split":
            separator, text = argument
            return self._value(text).split(separator)
        if function == "Ref":
            if argument in self.pseudo:
                return self.pseudo[argument]
            if argument in self.parameters:
                return self.parameters[argument]
            return self.attributes[argument]["Ref"]
        if function == "Fn::GetAtt":
            logical, attribute = argument
            return self.attributes[logical][attribute]
        if function == "Fn::Sub":
            text, variables = (argument, {}) if isinstance(argument, str) else argument
            variables = {name: self._value(v) for name, v in variables.items()}

            def substitute(match):
                name = match.group(1)
                if name in variables:
                    return variables[name]
                if "." in name:
                    logical, attribute = name.split(".", 1)
                    return self.attributes[logical][attribute]
                return self._value({"Ref": name})

            return re.sub(r"\$\{([^}!]+)\}", substitute, text)
        if function == "Fn::Join":
            separator, items = argument
            return separator.join(self._value(item) for item in items)
        raise ValueError(f"intrinsic {function} is not understood here")


_NO_VALUE = object()  # `AWS::NoValue`: the list item or property is left out


def table_arn(region, name):
    return name if name.startswith("arn:") else f"arn:aws:dynamodb:{region}:{ACCOUNT}:table/{name}"


# --- requests -----------------------------------------------------------------------------

_DYNAMODB_ITEM_ACTIONS = {"Put": "PutItem", "Update": "UpdateItem", "Delete": "DeleteItem", "ConditionCheck": "ConditionCheckItem", "Get": "GetItem"}


@dataclass
class Request:
    access_key: str
    region: str
    service: str  # dynamodb, dynamodbstreams, events, sns, sqs, …
    operation: str
    asks: list  # [(action, resource)]: what IAM authorises, one by one
    body: object


_CREDENTIAL = re.compile(r"Credential=([^/,\s]+)/\d{8}/([^/]+)/([^/]+)/aws4_request")


def parse(headers, body, path=""):
    """What a signed AWS request asks IAM for; None when it is not a signed AWS API request."""
    credential = _CREDENTIAL.search(headers.get("Authorization", ""))
    if credential is None:
        return None
    access_key, region, scope = credential.groups()
    if scope == "iotdata" and path.startswith("/topics/"):
        # IoT Core authorises a publish against its topic.
        topic = unquote(path[len("/topics/"):])
        return Request(access_key, region, "iotdata", "Publish", [("iot:Publish", f"arn:aws:iot:{region}:{ACCOUNT}:topic/{topic}")], body)
    target = headers.get("X-Amz-Target", "")
    if target:
        prefix, operation = target.split(".", 1)
        data = json.loads(body or b"{}")
        if prefix.startswith("DynamoDBStreams"):
            return Request(access_key, region, "dynamodbstreams", operation, [(f"dynamodb:{operation}", data.get("StreamArn", "*"))], data)
        if prefix.startswith("DynamoDB"):
            return Request(access_key, region, "dynamodb", operation, _dynamodb_asks(region, operation, data), data)
        if prefix == "AWSEvents":
            asks = [(f"events:{operation}", _bus_arn(region, entry.get("EventBusName", "default"))) for entry in data.get("Entries", [])]
            if operation != "PutEvents":
                asks = [(f"events:{operation}", _bus_arn(region, data.get("EventBusName", "default")))]
            return Request(access_key, region, "events", operation, asks, data)
        if prefix.startswith("AmazonSQS"):
            return Request(access_key, region, "sqs", operation, [(f"sqs:{operation}", data.get("QueueUrl", "*"))], data)
        return Request(access_key, region, scope, operation, [(f"{scope}:{operation}", "*")], data)
    form = {name: values[0] for name, values in parse_qs((body or b"").decode("utf-8", "replace")).items()}
    operation = form.get("Action", "")
    if scope == "sns":
        # SNS authorises a publish against its topic or endpoint, and a text against the
        # phone number itself (no ARN: "not authorized to perform: SNS:Publish on resource:
        # +8210…").
        resource = (
            form.get("TopicArn") or form.get("TargetArn") or form.get("EndpointArn") or form.get("PlatformApplicationArn")
            or form.get("PhoneNumber") or "*"
        )
        return Request(access_key, region, "sns", operation, [(f"sns:{operation}", resource)], form)
    return Request(access_key, region, scope, operation, [(f"{scope}:{operation}", "*")], form)


def _bus_arn(region, bus):
    return bus if bus.startswith("arn:") else f"arn:aws:events:{region}:{ACCOUNT}:event-bus/{bus}"


def _dynamodb_asks(region, operation, data):
    """IAM authorises a transaction item by item, each as its own action; a batch as the
    batch action on each table; a query or scan of an index against the index."""
    if operation in ("TransactWriteItems", "TransactGetItems"):
        asks = []
        for item in data.get("TransactItems", []):
            (kind, request), = item.items()
            asks.append((f"dynamodb:{_DYNAMODB_ITEM_ACTIONS[kind]}", table_arn(region, request["TableName"])))
        return asks
    if operation in ("BatchGetItem", "BatchWriteItem"):
        return [(f"dynamodb:{operation}", table_arn(region, table)) for table in data.get("RequestItems", {})]
    resource = table_arn(region, data.get("TableName", "*"))
    if data.get("IndexName"):
        resource = f"{resource}/index/{data['IndexName']}"
    return [(f"dynamodb:{operation}", resource)]


def is_local_wiring(request):
    """The Lambda service's own part, played by the local server: finding the table's stream
    and reading it, the queues standing in for asynchronous invocation, and its checkpoints
    of the stream."""
    if request.service in ("dynamodbstreams", "sqs"):
        return True
    if request.service == "dynamodb" and request.operation == "DescribeTable":
        return True
    # The simulated vehicles' roll call when the local server starts (DynamoStore::
    # kickboards_in_service): the stand-in for boards that, deployed, are things in IoT Core.
    if request.service == "dynamodb" and request.operation == "Scan" and "IndexName" not in request.body:
        return True
    keys = [request.body.get("Key", {}), request.body.get("Item", {})] if isinstance(request.body, dict) else []
    return request.service == "dynamodb" and any(key.get("pk", {}).get("S", "").startswith("CHECKPOINT#") for key in keys)


def denial(request, action, resource):
    message = (
        f"User: arn:aws:sts::{ACCOUNT}:assumed-role/{request.access_key}-role/{request.access_key} is not authorized "
        f"to perform: {action} on resource: {resource} because no identity-based policy allows the {action} action"
    )
    if request.service == "iotdata":
        return 403, "application/json", json.dumps({"__type": "ForbiddenException", "message": message}).encode()
    if request.service == "sns":
        body = (
            '<ErrorResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><Error><Type>Sender</Type>'
            f"<Code>AuthorizationError</Code><Message>{message}</Message></Error>"
            "<RequestId>denied</RequestId></ErrorResponse>"
        )
        return 403, "text/xml", body.encode()
    content_type = "application/x-amz-json-1.0" if request.service == "dynamodb" else "application/x-amz-json-1.1"
    return 400, content_type, json.dumps({"__type": "com.amazon.coral.service#AccessDeniedException", "Message": message}).encode()


class Checker:
    """IAM for the emulator: answers each request with the grants that allow it, or denies it."""

    def __init__(self, roles, usage_dir=None):
        self.roles = roles
        self.deployments = []
        self.denied = []
        self.used = set()
        self.usage_path = os.path.join(usage_dir, f"{os.getpid()}.jsonl") if usage_dir else None

    def add_deployment(self, region, names):
        self.deployments.append(Deployment(self.roles, region, names))

    def check(self, request):
        """None when the request may proceed; else the denial's (action, resource)."""
        function = request.access_key
        if function == LOCAL_WIRING:
            if is_local_wiring(request):
                return None
            function = "(no function)"
        elif function not in self.roles.functions() or not self.deployments:
            return None  # the test harness's own requests, or an unchecked run
        for action, resource in request.asks:
            grants = [g for d in self.deployments for g in self.roles.allowing(d, function, action, resource)]
            if not grants:
                self.denied.append({"function": function, "action": action, "resource": resource, "operation": request.operation})
                return action, resource
            self._use(grants)
        return None

    def _use(self, grants):
        fresh = [grant for grant in grants if grant.key() not in self.used]
        for grant in fresh:
            self.used.add(grant.key())
        if fresh and self.usage_path:
            with open(self.usage_path, "a", encoding="utf-8") as usage:
                for grant in fresh:
                    usage.write(json.dumps(grant.key()) + "\n")

    def journal(self):
        return {"denied": self.denied, "used": sorted(self.used)}


@functools.lru_cache(maxsize=None)
def roles_for(path, removed=()):
    return Roles(path, removed)


def unexercised(path, usage_dir):
    """Prints every grant no test used; returns how many have no written reason."""
    roles = Roles(path)
    used = set()
    for name in os.listdir(usage_dir):
        with open(os.path.join(usage_dir, name), encoding="utf-8") as usage:
            used.update(json.loads(line) for line in usage if line.strip())
    unexplained = 0
    for function in sorted(roles.grants):
        for grant in roles.grants[function]:
            if grant.key() in used:
                continue
            reason = roles.reasons[function].get(grant.action)
            if reason:
                print(f"not exercised, by design: {function}: {grant.action} on {grant.resource}: {reason}")
            else:
                unexplained += 1
                print(f"NOT EXERCISED by any test, and no reason in the template: {function}: {grant.action} on {grant.resource}")
    print(f"{len(used)} grants exercised; {unexplained} not exercised without a reason")
    return unexplained


def literal_partitions(path):
    """Prints every ARN of the deployed template (translated as for a China region, policy
    templates and SAM's generated permissions included) that names a partition itself
    rather than `${AWS::Partition}`; returns how many."""
    _, cfn = translated(path, region="cn-north-1")
    found = 0
    for logical, resource in cfn["Resources"].items():
        for literal in sorted(set(re.findall(r"arn:aws(?:-[a-z-]+)?:[^\"']*", json.dumps(resource)))):
            if literal.startswith("arn:aws-cn:iam::aws:policy/"):
                continue  # AWS managed policies: SAM names them in the region's own partition
            found += 1
            print(f"{logical}: {literal}")
    return found


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "unexercised":
        sys.exit(1 if unexercised(sys.argv[2], sys.argv[3]) else 0)
    if len(sys.argv) == 3 and sys.argv[1] == "literal-partitions":
        sys.exit(1 if literal_partitions(sys.argv[2]) else 0)
    print(__doc__)
    sys.exit(2)
