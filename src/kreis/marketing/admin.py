"""Lead management in the Django admin: each part registers its models in its own admin
module, imported here."""
