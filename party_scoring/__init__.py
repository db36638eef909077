"""Party-member scoring (党员评分): standings of party members and chiefs per period, each
number traced to the visits and ledger entries behind it; snapshots; honours."""
