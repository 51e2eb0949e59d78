// Favorites: the packages the user starred, each still checked against what the user may see
// (a package made private since, out of the user's reach, is left out), with a button to
// unstar it.
import type { Privacy } from "../../access/model.js";
import { href, type Web } from "../web.js";
import type { Visitor } from "../visitor.js";
import { FormToken, Table } from "./layout.js";
import { packagePath } from "./package.js";

export interface Favorite {
  channel: string;
  name: string;
  privacy: Privacy;
}

export function FavoritesView({ web, visitor, favorites }: { web: Web; visitor: Visitor; favorites: Favorite[] }) {
  return (
    <>
      <div class="page-head">
        <div>
          <h1>Favorites</h1>
          <p class="sub">Packages you starred, from any channel you can see. Star a package on its page.</p>
        </div>
      </div>
      <section class="card" aria-label="Starred packages">
        {favorites.length === 0 ? (
          <p class="empty">No favorites yet: open a package's page and press Star.</p>
        ) : (
          <Table label="Favorites" columns={["Package", "Channel", "Access", <span class="visually-hidden">Actions</span>]}>
            {favorites.map((f) => (
              <tr>
                <td>
                  <a href={href(web, packagePath(f.channel, f.name))}>
                    <strong>{f.name}</strong>
                  </a>
                </td>
                <td>
                  <a href={href(web, `/${f.channel}/`)}>{f.channel}</a>
                </td>
                <td>
                  <span class={`badge ${f.privacy}`}>{f.privacy}</span>
                </td>
                <td>
                  <form method="post" action={href(web, `${packagePath(f.channel, f.name)}/star`)}>
                    <FormToken visitor={visitor} />
                    <input type="hidden" name="star" value="0" />
                    <input type="hidden" name="back" value="favorites" />
                    <button type="submit" class="danger small" aria-label={`Unstar ${f.channel}/${f.name}`}>
                      Unstar
                    </button>
                  </form>
                </td>
              </tr>
            ))}
          </Table>
        )}
      </section>
    </>
  );
}
