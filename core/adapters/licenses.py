"""License records in the provider table, found through the licenseLookup index."""

from __future__ import annotations

from datetime import date
from typing import Any

from core.adapters import key_layout
from core.adapters.aws_errors import aws_call
from core.adapters.dynamo_table import DynamoTable
from core.models import License, LicenseFacts


class DynamoLicenseStore:
    """Reads and writes license records."""

    def __init__(self, table: DynamoTable) -> None:
        self._table = table

    def find_match(self, facts: LicenseFacts) -> License | None:
        """The license record matching every stated fact, if there is exactly one provider."""
        request: dict[str, Any] = {
            "IndexName": key_layout.LICENSE_INDEX,
            "KeyConditionExpression": "licenseLookupPk = :pk AND licenseLookupSk = :sk",
            "ExpressionAttributeValues": {
                ":pk": key_layout.license_lookup_pk(facts.compact, facts.jurisdiction),
                ":sk": key_layout.license_lookup_sk(facts.family_name, facts.given_name),
            },
        }
        items: list[dict[str, Any]] = []
        with aws_call("dynamodb", "Query"):
            while True:
                page, last = self._table.query_page(**request)
                items.extend(page)
                if last is None:
                    break
                request["ExclusiveStartKey"] = last
        matches = [lic for lic in map(to_license, items) if lic.matches(facts)]
        # Two different providers with identical facts cannot be told apart: match neither.
        if len({lic.provider_id for lic in matches}) != 1:
            return None
        return matches[0]

    def list_for_provider(self, compact: str, provider_id: str) -> list[License]:
        """Every license record of one provider."""
        with aws_call("dynamodb", "Query"):
            items, _ = self._table.query_page(
                KeyConditionExpression="pk = :pk AND begins_with(sk, :prefix)",
                ExpressionAttributeValues={
                    ":pk": key_layout.provider_pk(compact, provider_id),
                    ":prefix": key_layout.license_prefix(compact),
                },
            )
        return [to_license(item) for item in items]

    def put(self, lic: License) -> None:
        """Write one license record (used by seeding)."""
        with aws_call("dynamodb", "PutItem"):
            self._table.put_item(license_item(lic))


def license_item(lic: License) -> dict[str, Any]:
    """The stored form of a license record."""
    return {
        "pk": key_layout.provider_pk(lic.compact, lic.provider_id),
        "sk": key_layout.license_sk(lic.compact, lic.jurisdiction, lic.license_type),
        "type": "license",
        "providerId": lic.provider_id,
        "compact": lic.compact,
        "jurisdiction": lic.jurisdiction,
        "licenseType": lic.license_type,
        "licenseNumber": lic.license_number,
        "givenName": lic.given_name,
        "familyName": lic.family_name,
        "dateOfBirth": lic.date_of_birth.isoformat(),
        "ssnLastFour": lic.ssn_last_four,
        "licenseStatus": lic.license_status,
        "licenseLookupPk": key_layout.license_lookup_pk(lic.compact, lic.jurisdiction),
        "licenseLookupSk": key_layout.license_lookup_sk(lic.family_name, lic.given_name),
    }


def to_license(item: dict[str, Any]) -> License:
    """A license from its stored item."""
    return License(
        provider_id=item["providerId"],
        compact=item["compact"],
        jurisdiction=item["jurisdiction"],
        license_type=item["licenseType"],
        license_number=item["licenseNumber"],
        given_name=item["givenName"],
        family_name=item["familyName"],
        date_of_birth=date.fromisoformat(item["dateOfBirth"]),
        ssn_last_four=item["ssnLastFour"],
        license_status=item["licenseStatus"],
    )
