"""The web service people use: server-rendered GOV.UK pages on the same services as the API."""
