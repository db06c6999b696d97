import { NavLink } from 'react-router';

/** The sections of a page (Settings, Operations), each with its own URL. */
export function SubNav({ label, links }: { label: string; links: { to: string; text: string }[] }) {
  return (
    <nav className="sub-nav" aria-label={label}>
      {links.map((link) => (
        <NavLink key={link.to} to={link.to}>
          {link.text}
        </NavLink>
      ))}
    </nav>
  );
}
