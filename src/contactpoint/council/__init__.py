"""Council protection and responsibility: the responsible council's work on its children
(shields, brokered contact, per-user grants and investigations, children missing education,
the work list). The responsible council itself is derived at each link run
(:mod:`contactpoint.linking.responsibility`)."""
