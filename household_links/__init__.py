"""Party-member household links (党员联户): who answers for which household, the contacts
they log, and monthly coverage."""
