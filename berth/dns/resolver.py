"""Answer one DNS query from a ``ClusterIndex``: pure, dnspython messages in and out.

``respond(index, query)`` decides, for the question of ``query``:

- a name under the cluster zone or ``in-addr.arpa``: authoritative (AA) answers
  from the index; ``a-b-c-d.<ns>.pod.<zone>`` decodes to ``a.b.c.d``; a name
  that exists with no record of the asked type is NODATA (NOERROR, empty
  answer), a name that does not exist is NXDOMAIN; both carry the zone's SOA
  in the authority section, as the specification asks;
- an ExternalName Service answers its CNAME (the client resolves the target);
- any other name is REFUSED: berth's cluster DNS never forwards outside the
  machine.  Several questions, or an opcode other than QUERY, give FORMERR /
  NOTIMP.

``resolve`` returns the same decision as plain values (``Answer``), which the
unit tests read directly.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field

import dns.flags
import dns.message
import dns.name
import dns.opcode
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.rrset

from berth.dns.index import ClusterIndex

TTL = 5
REVERSE_ZONE = "in-addr.arpa"
A, AAAA, CNAME, SRV, PTR, SOA, TXT, NS, ANY = (
    "A", "AAAA", "CNAME", "SRV", "PTR", "SOA", "TXT", "NS", "ANY")
SCHEMA_VERSION = "1.1.0"


@dataclass
class Answer:
    """The outcome of one question: rcode, records (type, text) and whether SOA is attached."""

    rcode: str = "NOERROR"
    records: list[tuple[str, str]] = field(default_factory=list)
    soa_zone: str = ""
    authoritative: bool = True


def pod_ip(name: str, domain: str) -> str | None:
    """``10-244-1-5.ns.pod.<zone>`` -> ``10.244.1.5``; None if not a valid pod name."""
    suffix = f".pod.{domain}"
    if not name.endswith(suffix):
        return None
    labels = name[: -len(suffix)].split(".")
    if len(labels) != 2:
        return None
    try:
        return str(ipaddress.IPv4Address(labels[0].replace("-", ".")))
    except ValueError:
        return None


def _records(index: ClusterIndex, name: str, qtype: str) -> list[tuple[str, str]]:
    """The records of ``name`` with type ``qtype`` (ANY: every type)."""
    found: list[tuple[str, str]] = []
    want = (lambda t: True) if qtype == ANY else (lambda t: t == qtype)
    ips = sorted(index.a.get(name, ()))
    ip = pod_ip(name, index.domain)
    if ip:
        ips.append(ip)
    if want(A):
        found += [(A, i) for i in ips]
    if want(SRV):
        found += [(SRV, f"0 100 {s.port} {s.target}.") for s in sorted(index.srv.get(name, ()))]
    if want(PTR):
        found += [(PTR, f"{t}.") for t in sorted(index.ptr.get(name, ()))]
    if want(TXT) and name == f"dns-version.{index.domain}":
        found.append((TXT, f'"{SCHEMA_VERSION}"'))
    if name == index.domain:
        if want(SOA):
            found.append((SOA, soa_text(index.domain)))
        if want(NS):
            found.append((NS, f"ns.dns.{index.domain}."))
    return found


def soa_text(zone: str) -> str:
    return f"ns.dns.{zone}. hostmaster.{zone}. 1 7200 1800 86400 {TTL}"


def resolve(index: ClusterIndex, qname: str, qtype: str) -> Answer:
    """Answer ``qname``/``qtype`` (name lower-case or not, with or without the final dot)."""
    name = qname.lower().rstrip(".")
    domain = index.domain
    in_zone = name == domain or name.endswith("." + domain)
    in_reverse = name == REVERSE_ZONE or name.endswith("." + REVERSE_ZONE)
    if not (in_zone or in_reverse):
        return Answer("REFUSED", authoritative=False)
    zone = domain if in_zone else REVERSE_ZONE
    if name in index.cname:  # whatever the type: the client follows the alias
        return Answer(records=[(CNAME, f"{index.cname[name]}.")])
    records = _records(index, name, qtype)
    if records:
        return Answer(records=records)
    exists = (name in index.names or name in index.ptr or name == zone
              or name == f"dns-version.{domain}" or pod_ip(name, domain) is not None)
    return Answer("NOERROR" if exists else "NXDOMAIN", soa_zone=zone)


def respond(index: ClusterIndex, query: dns.message.Message) -> dns.message.Message:
    """The response message to ``query`` (see the module docstring)."""
    response = dns.message.make_response(query)
    if query.opcode() != dns.opcode.QUERY:
        response.set_rcode(dns.rcode.NOTIMP)
        return response
    if len(query.question) != 1:
        response.set_rcode(dns.rcode.FORMERR)
        return response
    question = query.question[0]
    qtype = dns.rdatatype.to_text(question.rdtype)
    answer = resolve(index, question.name.to_text(), qtype)
    response.set_rcode(dns.rcode.from_text(answer.rcode))
    if answer.authoritative:
        response.flags |= dns.flags.AA
    grouped: dict[str, list[str]] = {}
    for rtype, text in answer.records:
        grouped.setdefault(rtype, []).append(text)
    for rtype, texts in grouped.items():
        response.answer.append(dns.rrset.from_text_list(question.name, TTL, "IN", rtype, texts))
    if answer.soa_zone:
        owner = dns.name.from_text(answer.soa_zone)
        soa = soa_text(index.domain)
        response.authority.append(dns.rrset.from_text(owner, TTL, "IN", SOA, soa))
    _add_glue(index, response, grouped.get(SRV, []))
    return response


def _add_glue(index: ClusterIndex, response: dns.message.Message, srv_texts: list[str]) -> None:
    """A records of SRV targets in the additional section, as cluster DNS servers give them."""
    for target in sorted({text.split()[-1] for text in srv_texts}):
        ips = sorted(index.a.get(target.rstrip("."), ()))
        if ips:
            response.additional.append(dns.rrset.from_text_list(target, TTL, "IN", A, ips))
